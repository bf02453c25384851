-- A program that exists to write big, realistic heap-profile eventlogs for
-- benches/eventlog_vs_ghc_events.sh (and, run small, the marker fixture of the
-- eventlog tests). It churns a bounded working set of many different closure types
-- and leaks a little on purpose, so that `+RTS -hT -i0 -A64k -l` writes a census with
-- dozens of labels at every (forced major) GC, with `traceMarkerIO` phase markers.
--
-- Usage: eventlog_churn ITERATIONS +RTS -hT -i0 -A64k -l -RTS
-- Deterministic: same ITERATIONS, same censuses (timestamps aside).
module Main (main) where

import Control.Monad (foldM, when)
import Data.IORef
import qualified Data.IntMap.Strict as IM
import qualified Data.Map.Strict as M
import qualified Data.Sequence as Seq
import Debug.Trace (traceMarkerIO)
import System.Environment (getArgs)

data Shape = Circle !Double | Rect !Int !Int | Poly [Int] | Named String !Int
data Tree = Leaf | Node Tree !Int Tree
data Reg = Reg { regAddr :: !Int, regVal :: Int, regTag :: Maybe Int }
newtype Wrap = Wrap (Either Int (Int, Int))

insertT :: Int -> Tree -> Tree
insertT x Leaf = Node Leaf x Leaf
insertT x t@(Node l y r)
  | x < y = Node (insertT x l) y r
  | x > y = Node l y (insertT x r)
  | otherwise = t

sizeT :: Tree -> Int
sizeT Leaf = 0
sizeT (Node l _ r) = sizeT l + 1 + sizeT r

data World = World
  { wMap   :: !(M.Map Int Reg)
  , wInts  :: !(IM.IntMap Shape)
  , wSeq   :: !(Seq.Seq Wrap)
  , wTree  :: !Tree
  , wLazy  :: [Integer]          -- grows lazily: the deliberate small leak
  }

step :: World -> Int -> World
step w i =
  let k = (i * 7919) `mod` 1024
      m' = if even i then M.insert k (Reg k (i * 3) (if i `mod` 3 == 0 then Just i else Nothing)) (wMap w)
                     else M.delete ((k + 17) `mod` 1024) (wMap w)
      shape | i `mod` 4 == 0 = Circle (fromIntegral i)
            | i `mod` 4 == 1 = Rect i (i + 1)
            | i `mod` 4 == 2 = Poly [i, i + 1, i + 2]
            | otherwise = Named (show (i `mod` 100)) i
      ints' = IM.insert (i `mod` 512) shape (wInts w)
      sq = wSeq w Seq.|> Wrap (if odd i then Left i else Right (i, i * 2))
      sq' = if Seq.length sq > 200 then Seq.drop 1 sq else sq
      tree' = if i `mod` 2000 == 0 then Leaf else insertT ((i * 104729) `mod` 100003) (wTree w)
      lazy' = if i `mod` 64 == 0 then fromIntegral i * 1000000007 : wLazy w else wLazy w
  in World m' ints' sq' tree' lazy'

main :: IO ()
main = do
  [nStr] <- getArgs
  let n = read nStr :: Int
      phases = 4 :: Int
  ref <- newIORef (World M.empty IM.empty Seq.empty Leaf [])
  traceMarkerIO "init"
  _ <- foldM (\() i -> do
          when (i > 0 && i `mod` (max 1 (n `div` phases)) == 0) $
            traceMarkerIO ("phase " ++ show (i `div` (max 1 (n `div` phases))))
          modifyIORef' ref (`step` i)
          when (i `mod` 1000 == 0) $ do
            w <- readIORef ref
            -- force the lazy parts now and then so thunks turn into values
            when (sizeT (wTree w) + length (wLazy w) < 0) $ putStrLn "impossible"
          ) () [0 .. n - 1]
  traceMarkerIO "done"
  w <- readIORef ref
  print (M.size (wMap w), IM.size (wInts w), Seq.length (wSeq w), sizeT (wTree w), length (wLazy w))
